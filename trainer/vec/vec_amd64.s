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
