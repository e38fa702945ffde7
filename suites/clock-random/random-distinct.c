#include "random-distinct.h"
