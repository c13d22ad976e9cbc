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

// EXPSTEP(off) is one step of Horner's rule in both chains: p = p·r + c,
// c the constant at off(R8) (r in Y2 and Y7, p in Y3 and Y8).
#define EXPSTEP(off) \
	VMULPD Y2, Y3, Y3     \
	VMULPD Y7, Y8, Y8     \
	VADDPD off(R8), Y3, Y3 \
	VADDPD off(R8), Y8, Y8

// func expShiftAVX2(dst, src *float64, n int, shift float64, c *[expConstsLen]float64, lanes *[8]float64)
//
// dst = e^(src − shift), eight at a time in two independent chains of four
// (the series is a chain of dependent operations), each operation as
// expOne does it (no FMA): k = round(x·log2 e), r = x − k·ln2hi − k·ln2lo,
// e^r by its series to r^12 (Horner), times 2^k built in the exponent's
// bits; 0 where x < min, +Inf where x > max. c holds each constant four
// times over (see expConsts); the chains' sums are added to lanes.
TEXT ·expShiftAVX2(SB), NOSPLIT, $0-48
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSD shift+24(FP), Y15
	MOVQ         c+32(FP), R8
	MOVQ         lanes+40(FP), R9
	VMOVUPD      (R9), Y13   // the first chain's sums
	VMOVUPD      32(R9), Y14 // the second's
	XORQ         BX, BX

eloop:
	CMPQ    BX, CX
	JGE     edone
	VMOVUPD (SI)(BX*8), Y0
	VMOVUPD 32(SI)(BX*8), Y5
	VSUBPD   Y15, Y0, Y0
	VSUBPD   Y15, Y5, Y5
	VMULPD   0(R8), Y0, Y1
	VMULPD   0(R8), Y5, Y6
	VROUNDPD $0, Y1, Y1
	VROUNDPD $0, Y6, Y6
	VMULPD   32(R8), Y1, Y4
	VMULPD   32(R8), Y6, Y9
	VSUBPD   Y4, Y0, Y2
	VSUBPD   Y9, Y5, Y7
	VMULPD   64(R8), Y1, Y4
	VMULPD   64(R8), Y6, Y9
	VSUBPD   Y4, Y2, Y2
	VSUBPD   Y9, Y7, Y7
	VMOVUPD  256(R8), Y3 // 1/12!
	VMOVUPD  256(R8), Y8
	EXPSTEP(288) // 1/11!
	EXPSTEP(320) // 1/10!
	EXPSTEP(352) // 1/9!
	EXPSTEP(384) // 1/8!
	EXPSTEP(416) // 1/7!
	EXPSTEP(448) // 1/6!
	EXPSTEP(480) // 1/5!
	EXPSTEP(512) // 1/4!
	EXPSTEP(544) // 1/3!
	EXPSTEP(576) // 1/2
	EXPSTEP(96)  // 1
	EXPSTEP(96)  // 1
	// 2^k, the ends
	VADDPD   224(R8), Y1, Y4
	VADDPD   224(R8), Y6, Y9
	VPSLLQ   $52, Y4, Y4
	VPSLLQ   $52, Y9, Y9
	VMULPD   Y4, Y3, Y3
	VMULPD   Y9, Y8, Y8
	VCMPPD   $0x11, 128(R8), Y0, Y4
	VCMPPD   $0x11, 128(R8), Y5, Y9
	VANDNPD  Y3, Y4, Y3
	VANDNPD  Y8, Y9, Y8
	VCMPPD   $0x1e, 160(R8), Y0, Y4
	VCMPPD   $0x1e, 160(R8), Y5, Y9
	VBLENDVPD Y4, 192(R8), Y3, Y3
	VBLENDVPD Y9, 192(R8), Y8, Y8
	VMOVUPD Y3, (DI)(BX*8)
	VMOVUPD Y8, 32(DI)(BX*8)
	VADDPD  Y3, Y13, Y13
	VADDPD  Y8, Y14, Y14
	ADDQ    $8, BX
	JMP     eloop

edone:
	VMOVUPD Y13, (R9)
	VMOVUPD Y14, 32(R9)
	VZEROUPPER
	RET
