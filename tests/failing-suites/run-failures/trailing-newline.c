// Prints "value\n"; the spec expects "value" without the newline: the
// streams differ only in an invisible character.
#include <stdio.h>

int main(void) {
    printf("value\n");
    return 0;
}
