// Prints "value=abc\n". The regex matches a prefix of the stream but not the
// whole stream (the newline is left over), and the whole stream must match.
#include <stdio.h>

int main(void) {
    printf("value=abc\n");
    return 0;
}
