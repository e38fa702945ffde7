// Writes "banana" to /out.txt; the spec expects "cherry".
#include <stdio.h>

int main(void) {
    FILE *f = fopen("/out.txt", "w");
    if (!f) return 1;
    fputs("banana\n", f);
    fclose(f);
    return 0;
}
