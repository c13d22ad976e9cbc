#include "textflag.h"

// func powBAVX2(x *float64, out *float64, n int, b float64, c *[powConsts]float64)
//
// out[i] = x[i]^b for i < n (n a multiple of 4), 4 at a time, for normal
// x > 0 with |b·log2 x| < 1000 (powBatch fixes the others up):
// x = 2^e·m with √½ ≤ m < √2, ln m = 2·atanh(s), s = (m−1)/(m+1), by its
// series to s^15; then 2^y, y = b·log2 x, as 2^k·e^((y−k)·ln 2), k the
// nearest integer, by the exponential's series to degree 11. The constants
// are powAVX2Consts's (see there for their order).
TEXT ·powBAVX2(SB), NOSPLIT, $0-40
	MOVQ         x+0(FP), SI
	MOVQ         out+8(FP), DI
	MOVQ         n+16(FP), CX
	VBROADCASTSD b+24(FP), Y15
	MOVQ         c+32(FP), R8
	VBROADCASTSD 0(R8), Y14  // mantissa mask
	VBROADCASTSD 8(R8), Y13  // 1.0
	VBROADCASTSD 16(R8), Y12 // √2
	VBROADCASTSD 24(R8), Y11 // 2^52 + 1023
	XORQ         AX, AX

loop:
	CMPQ AX, CX
	JGE  done
	VMOVUPD (SI)(AX*8), Y0

	// e (as a double) and m in [1, 2)
	VPSRLQ       $52, Y0, Y1
	VBROADCASTSD 208(R8), Y9 // 2^52
	VPOR         Y9, Y1, Y1  // 2^52 + biased exponent, as a double
	VSUBPD  Y11, Y1, Y1     // e
	VANDPD  Y14, Y0, Y2
	VORPD   Y13, Y2, Y2     // m
	VCMPPD  $0x1e, Y12, Y2, Y3 // m > √2
	VMULPD  32(R8), Y2, Y4  // m/2 (32(R8): 0.5 ×4)
	VBLENDVPD Y3, Y4, Y2, Y2
	VANDPD  Y13, Y3, Y4
	VADDPD  Y4, Y1, Y1      // e+1 where halved

	// s = (m−1)/(m+1), z = s²
	VSUBPD  Y13, Y2, Y4
	VADDPD  Y13, Y2, Y5
	VDIVPD  Y5, Y4, Y6      // s
	VMULPD  Y6, Y6, Y7      // z

	// P(z) = 1 + z/3 + z²/5 + ... + z^7/15
	VBROADCASTSD 64(R8), Y8 // 1/15
	VBROADCASTSD 72(R8), Y9
	VFMADD213PD  Y9, Y7, Y8 // + 1/13
	VBROADCASTSD 80(R8), Y9
	VFMADD213PD  Y9, Y7, Y8 // + 1/11
	VBROADCASTSD 88(R8), Y9
	VFMADD213PD  Y9, Y7, Y8 // + 1/9
	VBROADCASTSD 96(R8), Y9
	VFMADD213PD  Y9, Y7, Y8 // + 1/7
	VBROADCASTSD 104(R8), Y9
	VFMADD213PD  Y9, Y7, Y8 // + 1/5
	VBROADCASTSD 112(R8), Y9
	VFMADD213PD  Y9, Y7, Y8 // + 1/3
	VFMADD213PD  Y13, Y7, Y8 // + 1

	// y = b·(e + s·P·2·log2(e))
	VMULPD       Y6, Y8, Y8
	VBROADCASTSD 120(R8), Y9 // 2·log2(e)
	VFMADD213PD  Y1, Y9, Y8
	VMULPD       Y15, Y8, Y8 // y

	// k = round(y), g = (y − k)·ln 2
	VROUNDPD     $0, Y8, Y10
	VSUBPD       Y10, Y8, Y8
	VBROADCASTSD 128(R8), Y9 // ln 2
	VMULPD       Y9, Y8, Y8  // g

	// e^g = Σ g^i/i!, i ≤ 11
	VBROADCASTSD 136(R8), Y4 // 1/11!
	VBROADCASTSD 144(R8), Y9
	VFMADD213PD  Y9, Y8, Y4 // 1/10!
	VBROADCASTSD 152(R8), Y9
	VFMADD213PD  Y9, Y8, Y4 // 1/9!
	VBROADCASTSD 160(R8), Y9
	VFMADD213PD  Y9, Y8, Y4 // 1/8!
	VBROADCASTSD 168(R8), Y9
	VFMADD213PD  Y9, Y8, Y4 // 1/7!
	VBROADCASTSD 176(R8), Y9
	VFMADD213PD  Y9, Y8, Y4 // 1/6!
	VBROADCASTSD 184(R8), Y9
	VFMADD213PD  Y9, Y8, Y4 // 1/5!
	VBROADCASTSD 192(R8), Y9
	VFMADD213PD  Y9, Y8, Y4 // 1/4!
	VBROADCASTSD 200(R8), Y9
	VFMADD213PD  Y9, Y8, Y4 // 1/3!
	VBROADCASTSD 32(R8), Y9
	VFMADD213PD  Y9, Y8, Y4 // 1/2
	VFMADD213PD  Y13, Y8, Y4 // 1
	VFMADD213PD  Y13, Y8, Y4 // 1

	// 2^k: k + 2^52 + 1023 holds k + 1023 in its low bits
	VADDPD  Y11, Y10, Y10
	VPSLLQ  $52, Y10, Y10
	VMULPD  Y10, Y4, Y4
	VMOVUPD Y4, (DI)(AX*8)
	ADDQ    $4, AX
	JMP     loop

done:
	VZEROUPPER
	RET
