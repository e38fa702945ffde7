#include "stdin-stats.h"
