/* A bytecode interpreter (switch dispatch): unpredictable indirect branches, the classic
 * worst case for a binary translator. The program counts primes below a bound by trial
 * division, using only stack-machine opcodes.
 * Usage: interp BOUND */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

enum { PUSH, LOAD, STORE, ADD, SUB, MUL, MOD, LT, JZ, JMP, DUP, POP, HALT };

/* Variables: 0 = n, 1 = d, 2 = count of primes, 3 = bound. */

int main(int argc, char **argv)
{
    int64_t bound = argc > 1 ? atoll(argv[1]) : 200000;
    /* The bytecode is assembled here so jump targets are computed, not hand-counted. */
    int64_t code[256];
    int pc = 0;
#define EMIT(x) (code[pc++] = (x))
    int l_outer, l_inner, l_inner_end, l_notprime, l_next, l_end;
    int fix_end, fix_inner_end, fix_notprime;
    EMIT(PUSH), EMIT(2), EMIT(STORE), EMIT(0);
    EMIT(PUSH), EMIT(0), EMIT(STORE), EMIT(2);
    l_outer = pc;
    EMIT(LOAD), EMIT(0), EMIT(LOAD), EMIT(3), EMIT(LT), EMIT(JZ), fix_end = pc, EMIT(0);
    EMIT(PUSH), EMIT(2), EMIT(STORE), EMIT(1);
    l_inner = pc;
    EMIT(LOAD), EMIT(1), EMIT(DUP), EMIT(MUL), EMIT(LOAD), EMIT(0), EMIT(PUSH), EMIT(1),
        EMIT(ADD), EMIT(LT), EMIT(JZ), fix_inner_end = pc, EMIT(0);
    EMIT(LOAD), EMIT(0), EMIT(LOAD), EMIT(1), EMIT(MOD), EMIT(JZ), fix_notprime = pc, EMIT(0);
    EMIT(LOAD), EMIT(1), EMIT(PUSH), EMIT(1), EMIT(ADD), EMIT(STORE), EMIT(1);
    EMIT(JMP), EMIT(l_inner);
    l_inner_end = pc; /* prime: count++ */
    EMIT(LOAD), EMIT(2), EMIT(PUSH), EMIT(1), EMIT(ADD), EMIT(STORE), EMIT(2);
    EMIT(JMP), l_next = pc, EMIT(0);
    l_notprime = pc;
    code[l_next] = pc; /* both paths continue at n++ */
    EMIT(LOAD), EMIT(0), EMIT(PUSH), EMIT(1), EMIT(ADD), EMIT(STORE), EMIT(0);
    EMIT(JMP), EMIT(l_outer);
    l_end = pc;
    EMIT(HALT);
    code[fix_end] = l_end;
    code[fix_inner_end] = l_inner_end;
    code[fix_notprime] = l_notprime;

    int64_t vars[8] = {0}, stack[64];
    int sp = 0;
    long steps = 0;
    vars[3] = bound;
    pc = 0;
    for (;;) {
        steps++;
        switch (code[pc++]) {
        case PUSH: stack[sp++] = code[pc++]; break;
        case LOAD: stack[sp++] = vars[code[pc++]]; break;
        case STORE: vars[code[pc++]] = stack[--sp]; break;
        case ADD: sp--, stack[sp - 1] += stack[sp]; break;
        case SUB: sp--, stack[sp - 1] -= stack[sp]; break;
        case MUL: sp--, stack[sp - 1] *= stack[sp]; break;
        case MOD: sp--, stack[sp - 1] %= stack[sp]; break;
        case LT: sp--, stack[sp - 1] = stack[sp - 1] < stack[sp]; break;
        case JZ: { int64_t t = code[pc++]; if (stack[--sp] == 0) pc = (int)t; } break;
        case JMP: pc = (int)code[pc]; break;
        case DUP: stack[sp] = stack[sp - 1], sp++; break;
        case POP: sp--; break;
        case HALT: goto done;
        default: printf("bad opcode\n"); return 1;
        }
    }
done:
    printf("interp bound=%lld primes=%lld steps=%ld\n", (long long)bound, (long long)vars[2],
           steps);
    return 0;
}
