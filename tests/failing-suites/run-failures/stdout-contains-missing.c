// The output does not contain "lazy dog".
#include <stdio.h>

int main(void) {
    printf("the quick brown fox\n");
    return 0;
}
