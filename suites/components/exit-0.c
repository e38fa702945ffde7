// Returns 0 from main; no spec: the default spec expects exit code 0.
int main(void) { return 0; }
