// Leaves /present.txt in place; the spec expects it to be gone.
int main(void) { return 0; }
