// Prints "apple pie"; the spec expects "apple tart".
#include <stdio.h>

int main(void) {
    printf("first line\napple pie\nlast line\n");
    return 0;
}
