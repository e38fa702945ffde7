// Exits with 9 and has no spec: the default spec expects exit code 0.
int main(void) { return 9; }
