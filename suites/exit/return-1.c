// Returns 1 from main after printing.
#include <stdio.h>

int main(void) {
    printf("failing on purpose\n");
    return 1;
}
