// Output with a tab, a carriage return, UTF-8 and no final newline: the
// comparison is byte-exact.
#include <stdio.h>

int main(void) {
    printf("tab\there\r\n");
    printf("caf\xc3\xa9 \xe2\x9c\x93\n");
    printf("no newline at end");
    return 0;
}
