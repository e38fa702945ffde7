// Exits with 17; the spec expects 42.
int main(void) { return 17; }
