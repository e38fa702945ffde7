// Writes 20 bytes to each stream with output_bytes = 16: only the first 16
// bytes of each are kept, and the program still exits normally.
#include <stdio.h>

int main(void) {
    fwrite("0123456789abcdefghij", 1, 20, stdout);
    fflush(stdout);
    fwrite("ABCDEFGHIJKLMNOPQRST", 1, 20, stderr);
    return 0;
}
