/* Runs hotlib.c's loop for argv[1] iterations and prints its sum. */
#include <stdio.h>
#include <stdlib.h>

unsigned long hot_loop(long n);

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 1000;
    printf("%lu\n", hot_loop(n));
    return 0;
}
