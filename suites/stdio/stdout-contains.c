// Prints several lines; the spec checks only that one of them is there.
#include <stdio.h>

int main(void) {
    printf("header\n");
    printf("the needle is here\n");
    printf("footer\n");
    return 0;
}
