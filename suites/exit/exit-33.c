// Calls exit(33) from a nested function; buffered stdout is flushed by exit.
#include <stdio.h>
#include <stdlib.h>

static void leave(int code) {
    printf("leaving with %d\n", code);
    exit(code);
}

int main(void) {
    leave(33);
    printf("not reached\n");
    return 0;
}
