// Shared by the stdin* tests: reads stdin to EOF, prints its size and number
// of newlines, then the input upper-cased, then "[eof]".
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

int main(void) {
    size_t cap = 1024, len = 0, lines = 0;
    char *buf = malloc(cap);
    if (!buf) return 1;
    int c;
    while ((c = getchar()) != EOF) {
        if (len == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            if (!buf) return 1;
        }
        buf[len++] = (char)toupper(c);
        if (c == '\n') lines++;
    }
    printf("%zu bytes, %zu newlines\n", len, lines);
    fwrite(buf, 1, len, stdout);
    printf("[eof]\n");
    return 0;
}
