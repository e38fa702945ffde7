// Exits cleanly although the spec expects a trap.
int main(void) { return 0; }
