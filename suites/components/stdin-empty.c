#include "stdin-count.h"
