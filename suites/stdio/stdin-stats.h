// Shared by the stdin-* tests: reads the whole of stdin, prints its size and
// number of newlines, then the input upper-cased.
#include <ctype.h>
#include <stdio.h>

int main(void) {
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf, stdin);
    size_t lines = 0;
    for (size_t i = 0; i < n; i++) {
        if (buf[i] == '\n') lines++;
        buf[i] = (char)toupper((unsigned char)buf[i]);
    }
    printf("%zu bytes, %zu newlines\n", n, lines);
    fwrite(buf, 1, n, stdout);
    printf(feof(stdin) ? "[eof]\n" : "[no eof]\n");
    return 0;
}
