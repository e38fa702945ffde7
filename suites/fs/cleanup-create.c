// Creates out.cleanup (the harness removes *.cleanup files after the run)
// and reads it back.
#include "fsutil.h"

int main(void) {
    if (write_file("/out.cleanup", "w", "scratch output\n")) return 1;
    show_file("/out.cleanup", "/out.cleanup");
    return 0;
}
