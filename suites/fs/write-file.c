// Creates a new file in the root preopen; checked with "files".
#include "fsutil.h"

int main(void) {
    if (write_file("/out.txt", "w", "written by the guest\nsecond line\n")) return 1;
    printf("ok\n");
    return 0;
}
