// fd-exhaustion under a spec-set limits.open_files of 64: the guest is
// stopped soon after its 64th open file.
#include "fd-loop.h"
