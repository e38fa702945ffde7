// Creates nothing; the spec expects /never.txt.
int main(void) { return 0; }
