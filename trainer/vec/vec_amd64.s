//go:build !purego

#include "textflag.h"

// func adamAVX2(param, grad, mom, vel *float32, n int, c *[9]float32)
//
// Eight values a turn, each operation as adamGo does it (no FMA):
//	g' = g + L2·p
//	m  = B1·m + C1·g'
//	v  = B2·v + (C2·g')·g'
//	p  = p·Shrink − (StepSize·m) / (sqrt(v)·InvSqrtBC2 + Eps)
TEXT ·adamAVX2(SB), NOSPLIT, $0-48
	MOVQ param+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ mom+16(FP), R8
	MOVQ vel+24(FP), R9
	MOVQ n+32(FP), CX
	MOVQ c+40(FP), AX
	VBROADCASTSS 0(AX), Y8   // B1
	VBROADCASTSS 4(AX), Y9   // C1
	VBROADCASTSS 8(AX), Y10  // B2
	VBROADCASTSS 12(AX), Y11 // C2
	VBROADCASTSS 16(AX), Y12 // L2
	VBROADCASTSS 20(AX), Y13 // Shrink
	VBROADCASTSS 24(AX), Y14 // StepSize
	VBROADCASTSS 28(AX), Y15 // InvSqrtBC2
	VBROADCASTSS 32(AX), Y7  // Eps
	XORQ BX, BX

loop:
	CMPQ BX, CX
	JGE  done
	VMOVUPS (DI)(BX*4), Y0   // p
	VMOVUPS (SI)(BX*4), Y1   // g
	VMULPS  Y0, Y12, Y2      // L2·p
	VADDPS  Y2, Y1, Y1       // g' = g + L2·p
	VMULPS  (R8)(BX*4), Y8, Y2 // B1·m
	VMULPS  Y1, Y9, Y3       // C1·g'
	VADDPS  Y3, Y2, Y2       // m
	VMOVUPS Y2, (R8)(BX*4)
	VMULPS  (R9)(BX*4), Y10, Y3 // B2·v
	VMULPS  Y1, Y11, Y4      // C2·g'
	VMULPS  Y1, Y4, Y4       // (C2·g')·g'
	VADDPS  Y4, Y3, Y3       // v
	VMOVUPS Y3, (R9)(BX*4)
	VSQRTPS Y3, Y3           // sqrt(v)
	VMULPS  Y15, Y3, Y3      // ·InvSqrtBC2
	VADDPS  Y7, Y3, Y3       // + Eps
	VMULPS  Y2, Y14, Y2      // StepSize·m
	VDIVPS  Y3, Y2, Y2       // / denom
	VMULPS  Y13, Y0, Y0      // p·Shrink
	VSUBPS  Y2, Y0, Y0
	VMOVUPS Y0, (DI)(BX*4)
	ADDQ    $8, BX
	JMP     loop

done:
	VZEROUPPER
	RET

// func reluAVX2(h *float32, n int): h &^= h>>31 (arithmetic), 8 at a time.
TEXT ·reluAVX2(SB), NOSPLIT, $0-16
	MOVQ h+0(FP), DI
	MOVQ n+8(FP), CX
	XORQ BX, BX

rloop:
	CMPQ    BX, CX
	JGE     rdone
	VMOVDQU (DI)(BX*4), Y0
	VPSRAD  $31, Y0, Y1
	VPANDN  Y0, Y1, Y0       // ^mask & h
	VMOVDQU Y0, (DI)(BX*4)
	ADDQ    $8, BX
	JMP     rloop

rdone:
	VZEROUPPER
	RET

// func reluBackwardAVX2(grad, act *float32, n int):
// grad &= (-act)>>31 (arithmetic), 8 at a time.
TEXT ·reluBackwardAVX2(SB), NOSPLIT, $0-24
	MOVQ   grad+0(FP), DI
	MOVQ   act+8(FP), SI
	MOVQ   n+16(FP), CX
	XORQ   BX, BX
	VPXOR  Y2, Y2, Y2

bloop:
	CMPQ    BX, CX
	JGE     bdone
	VMOVDQU (SI)(BX*4), Y0
	VPSUBD  Y0, Y2, Y0       // -act
	VPSRAD  $31, Y0, Y0      // mask
	VPAND   (DI)(BX*4), Y0, Y0
	VMOVDQU Y0, (DI)(BX*4)
	ADDQ    $8, BX
	JMP     bloop

bdone:
	VZEROUPPER
	RET

// The exponential in four chains of four values: chain c keeps r in Y(c),
// the series p in Y(4+c) and the scale 2^k (0 below min, +Inf above max)
// in Y(8+c); Y12–Y14 are scratch and Y15 holds the shift. R8 is the
// constants table (offsets: log2e 0, ln2hi 32, ln2lo 64, min 128, max 160,
// +Inf 192, bias 224, the series from 256, 1 at 96, the clamp bounds 608
// and 640).

// EXPSETUP(off, R, P, S) loads x = src − shift from off(SI)(BX*8), clamps
// it to [min−1, max+1] keeping a NaN (VMAXPD and VMINPD return their second
// source when either is NaN), reduces it to k and r = (x − k·ln2hi) −
// k·ln2lo as expOne does, and builds the scale 2^k from k's bits, zeroed
// where x < min and +Inf where x > max; p starts at 1/12!.
#define EXPSETUP(off, R, P, S) \
	VMOVUPD   off(SI)(BX*8), R;    \
	VSUBPD    Y15, R, R;           \
	VMOVUPD   608(R8), Y12;        \
	VMAXPD    R, Y12, R;           \
	VMOVUPD   640(R8), Y12;        \
	VMINPD    R, Y12, R;           \
	VCMPPD    $0x11, 128(R8), R, Y13; \
	VCMPPD    $0x1e, 160(R8), R, Y14; \
	VMULPD    0(R8), R, S;         \
	VROUNDPD  $0, S, S;            \
	VMULPD    32(R8), S, Y12;      \
	VSUBPD    Y12, R, R;           \
	VMULPD    64(R8), S, Y12;      \
	VSUBPD    Y12, R, R;           \
	VADDPD    224(R8), S, S;       \
	VPSLLQ    $52, S, S;           \
	VANDNPD   S, Y13, S;           \
	VBLENDVPD Y14, 192(R8), S, S;  \
	VMOVUPD   256(R8), P

// EXPSTEP4(off) and EXPSTEP2(off) are one step of Horner's rule, p = p·r + c
// with c at off(R8), in four chains and in the first two.
#define EXPSTEP2(off) \
	VMULPD Y0, Y4, Y4;     \
	VMULPD Y1, Y5, Y5;     \
	VADDPD off(R8), Y4, Y4; \
	VADDPD off(R8), Y5, Y5

#define EXPSTEP4(off) \
	VMULPD Y0, Y4, Y4;     \
	VMULPD Y1, Y5, Y5;     \
	VMULPD Y2, Y6, Y6;     \
	VMULPD Y3, Y7, Y7;     \
	VADDPD off(R8), Y4, Y4; \
	VADDPD off(R8), Y5, Y5; \
	VADDPD off(R8), Y6, Y6; \
	VADDPD off(R8), Y7, Y7

// EXPSERIES(STEP) runs the series from 1/11! (at 288) to 1/2 (at 576),
// then the two steps with 1 (at 96) that give e^r.
#define EXPSERIES(STEP) \
	STEP(288) \
	STEP(320) \
	STEP(352) \
	STEP(384) \
	STEP(416) \
	STEP(448) \
	STEP(480) \
	STEP(512) \
	STEP(544) \
	STEP(576) \
	STEP(96)  \
	STEP(96)

// EXPEND(off, P, S, Q, T) finishes two chains of eight consecutive values
// at off(DI)(BX*8): the results P·S and Q·T are stored and added to the
// lanes' sums at (R9), the first four to lanes 0–3, the others to 4–7.
#define EXPEND(off, P, S, Q, T) \
	VMULPD  S, P, P;            \
	VMULPD  T, Q, Q;            \
	VMOVUPD P, off(DI)(BX*8);   \
	VMOVUPD Q, off+32(DI)(BX*8); \
	VADDPD  (R9), P, P;         \
	VADDPD  32(R9), Q, Q;       \
	VMOVUPD P, (R9);            \
	VMOVUPD Q, 32(R9)

// func expShiftAVX2(dst, src *float64, n int, shift float64, c *[expConstsLen]float64, lanes *[8]float64)
//
// dst = e^(src − shift), sixteen at a time in four independent chains of
// four (the series is a chain of dependent operations, so more chains fill
// the pipelines), then eight in two chains if n mod 16 is 8. Each result is
// expOne's bits: outside [min, max] it is 0 or +Inf (p is finite there, x
// being clamped), and a NaN stays NaN. Value i's result is added to
// lanes[i mod 8] in the order of i, as the Go loop does.
TEXT ·expShiftAVX2(SB), NOSPLIT, $0-48
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSD shift+24(FP), Y15
	MOVQ         c+32(FP), R8
	MOVQ         lanes+40(FP), R9
	XORQ         BX, BX
	MOVQ         CX, DX
	ANDQ         $-16, DX // the sixteens

eloop:
	CMPQ BX, DX
	JGE  etail
	EXPSETUP(0, Y0, Y4, Y8)
	EXPSETUP(32, Y1, Y5, Y9)
	EXPSETUP(64, Y2, Y6, Y10)
	EXPSETUP(96, Y3, Y7, Y11)
	EXPSERIES(EXPSTEP4)
	EXPEND(0, Y4, Y8, Y5, Y9)
	EXPEND(64, Y6, Y10, Y7, Y11)
	ADDQ $16, BX
	JMP  eloop

etail:
	CMPQ BX, CX
	JGE  edone
	EXPSETUP(0, Y0, Y4, Y8)
	EXPSETUP(32, Y1, Y5, Y9)
	EXPSERIES(EXPSTEP2)
	EXPEND(0, Y4, Y8, Y5, Y9)

edone:
	VZEROUPPER
	RET

// func scaleAVX2(dst, src *float64, n int, c float64): dst = src·c, 8 at a time.
TEXT ·scaleAVX2(SB), NOSPLIT, $0-32
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSD c+24(FP), Y2
	XORQ         BX, BX

sloop:
	CMPQ    BX, CX
	JGE     sdone
	VMULPD  (SI)(BX*8), Y2, Y0
	VMULPD  32(SI)(BX*8), Y2, Y1
	VMOVUPD Y0, (DI)(BX*8)
	VMOVUPD Y1, 32(DI)(BX*8)
	ADDQ    $8, BX
	JMP     sloop

sdone:
	VZEROUPPER
	RET

// func maxAVX2(x *float64, n int, lanes *[8]float64): each lane's largest
// value that is not NaN, 8 at a time. VMAXPD returns its second source
// when either is NaN (and of two zeros), so with the running maximum
// second a NaN in x is passed over.
TEXT ·maxAVX2(SB), NOSPLIT, $0-24
	MOVQ    x+0(FP), SI
	MOVQ    n+8(FP), CX
	MOVQ    lanes+16(FP), R9
	VMOVUPD (R9), Y2
	VMOVUPD 32(R9), Y3
	XORQ    BX, BX

mloop:
	CMPQ    BX, CX
	JGE     mdone
	VMOVUPD (SI)(BX*8), Y0
	VMOVUPD 32(SI)(BX*8), Y1
	VMAXPD  Y2, Y0, Y2 // Y2 = Y0 > Y2 ? Y0 : Y2
	VMAXPD  Y3, Y1, Y3
	ADDQ    $8, BX
	JMP     mloop

mdone:
	VMOVUPD Y2, (R9)
	VMOVUPD Y3, 32(R9)
	VZEROUPPER
	RET

// func widenAVX2(dst *float64, src *float32, n int): dst = float64(src),
// 8 at a time.
TEXT ·widenAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	XORQ BX, BX

wloop:
	CMPQ      BX, CX
	JGE       wdone
	VCVTPS2PD (SI)(BX*4), Y0
	VCVTPS2PD 16(SI)(BX*4), Y1
	VMOVUPD   Y0, (DI)(BX*8)
	VMOVUPD   Y1, 32(DI)(BX*8)
	ADDQ      $8, BX
	JMP       wloop

wdone:
	VZEROUPPER
	RET

// func narrowAVX2(dst *float32, src *float64, n int): dst = float32(src),
// rounded to nearest even (the MXCSR's default, which Go keeps), 8 at a
// time.
TEXT ·narrowAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	XORQ BX, BX

nloop:
	CMPQ       BX, CX
	JGE        ndone
	VCVTPD2PSY (SI)(BX*8), X0
	VCVTPD2PSY 32(SI)(BX*8), X1
	VMOVUPS    X0, (DI)(BX*4)
	VMOVUPS    X1, 16(DI)(BX*4)
	ADDQ       $8, BX
	JMP        nloop

ndone:
	VZEROUPPER
	RET

// func addAVX2(dst, src *float32, n int): dst += src, 8 at a time.
TEXT ·addAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	XORQ BX, BX

aloop:
	CMPQ    BX, CX
	JGE     adone
	VMOVUPS (DI)(BX*4), Y0
	VADDPS  (SI)(BX*4), Y0, Y0
	VMOVUPS Y0, (DI)(BX*4)
	ADDQ    $8, BX
	JMP     aloop

adone:
	VZEROUPPER
	RET
