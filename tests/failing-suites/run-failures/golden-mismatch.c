// Prints "line 2" where the golden file has "line two".
#include <stdio.h>

int main(void) {
    printf("line one\nline 2\nline three\n");
    return 0;
}
