#include <stdio.h>
int main(void) { puts("dlc: driver not written yet"); return 1; }
