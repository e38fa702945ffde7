// Prints "value=abc"; the regex wants digits.
#include <stdio.h>

int main(void) {
    printf("value=abc\n");
    return 0;
}
