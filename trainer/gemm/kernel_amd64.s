//go:build !purego

#include "textflag.h"

// One step of the 6×16 micro-kernel: load 16 floats of the packed B row at
// boff(BX), broadcast the 6 floats of the packed A column at aoff(AX) and
// accumulate their outer product into Y0..Y11 (row r in Y(2r), Y(2r+1)).
#define STEP(aoff, boff) \
	VMOVUPS      (boff)(BX), Y12;     \
	VMOVUPS      (boff+32)(BX), Y13;  \
	VBROADCASTSS (aoff)(AX), Y14;     \
	VFMADD231PS  Y12, Y14, Y0;        \
	VFMADD231PS  Y13, Y14, Y1;        \
	VBROADCASTSS (aoff+4)(AX), Y15;   \
	VFMADD231PS  Y12, Y15, Y2;        \
	VFMADD231PS  Y13, Y15, Y3;        \
	VBROADCASTSS (aoff+8)(AX), Y14;   \
	VFMADD231PS  Y12, Y14, Y4;        \
	VFMADD231PS  Y13, Y14, Y5;        \
	VBROADCASTSS (aoff+12)(AX), Y15;  \
	VFMADD231PS  Y12, Y15, Y6;        \
	VFMADD231PS  Y13, Y15, Y7;        \
	VBROADCASTSS (aoff+16)(AX), Y14;  \
	VFMADD231PS  Y12, Y14, Y8;        \
	VFMADD231PS  Y13, Y14, Y9;        \
	VBROADCASTSS (aoff+20)(AX), Y15;  \
	VFMADD231PS  Y12, Y15, Y10;       \
	VFMADD231PS  Y13, Y15, Y11

// Row stores: with beta == 0 C is written without being read (NaN in C is
// ignored); otherwise C = acc + beta·C.
#define STORE0(lo, hi) \
	VMOVUPS lo, (DI);   \
	VMOVUPS hi, 32(DI)

#define STOREB(lo, hi) \
	VFMADD231PS (DI), Y15, lo;   \
	VFMADD231PS 32(DI), Y15, hi; \
	VMOVUPS     lo, (DI);        \
	VMOVUPS     hi, 32(DI)

// func kernel6x16(k int, a, b, c *float32, ldc int, alpha, beta float32, m int)
//
// Computes the m×16 block of C at c (row stride ldc floats), m >= 1, as
// C = alpha·A·B + beta·C: b is a packed k×16 micro-panel (16 floats per
// step) and a holds ⌈m/6⌉ packed 6×k micro-panels (6 floats per step), one
// per 6-row tile; the last tile stores only its m mod 6 real rows. Looping
// over the tiles here rather than in Go saves a call per tile, which shows
// when k is small.
TEXT ·kernel6x16(SB), NOSPLIT, $0-56
	MOVQ a+8(FP), AX
	MOVQ b+16(FP), R12
	MOVQ c+24(FP), R13
	MOVQ ldc+32(FP), R8
	SHLQ $2, R8
	LEAQ (R8)(R8*2), R11 // 3 rows of C, in bytes
	MOVQ m+48(FP), R10

tile:
	MOVQ k+0(FP), CX
	MOVQ R12, BX
	MOVQ R13, DI

	// Touch the C tile early so its lines arrive while the loop runs.
	PREFETCHT0 (DI)
	PREFETCHT0 60(DI)
	PREFETCHT0 (DI)(R8*1)
	PREFETCHT0 60(DI)(R8*1)
	PREFETCHT0 (DI)(R8*2)
	PREFETCHT0 60(DI)(R8*2)
	LEAQ       (DI)(R11*1), R9
	PREFETCHT0 (R9)
	PREFETCHT0 60(R9)
	PREFETCHT0 (R9)(R8*1)
	PREFETCHT0 60(R9)(R8*1)
	PREFETCHT0 (R9)(R8*2)
	PREFETCHT0 60(R9)(R8*2)

	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

	MOVQ CX, DX
	ANDQ $3, DX
	SHRQ $2, CX
	JZ   tail

loop4:
	STEP(0, 0)
	STEP(24, 64)
	STEP(48, 128)
	STEP(72, 192)
	ADDQ $96, AX
	ADDQ $256, BX
	DECQ CX
	JNZ  loop4

tail:
	TESTQ DX, DX
	JZ    store

loop1:
	STEP(0, 0)
	ADDQ $24, AX
	ADDQ $64, BX
	DECQ DX
	JNZ  loop1

store:
	VBROADCASTSS alpha+40(FP), Y14
	VMULPS       Y14, Y0, Y0
	VMULPS       Y14, Y1, Y1
	VMULPS       Y14, Y2, Y2
	VMULPS       Y14, Y3, Y3
	VMULPS       Y14, Y4, Y4
	VMULPS       Y14, Y5, Y5
	VMULPS       Y14, Y6, Y6
	VMULPS       Y14, Y7, Y7
	VMULPS       Y14, Y8, Y8
	VMULPS       Y14, Y9, Y9
	VMULPS       Y14, Y10, Y10
	VMULPS       Y14, Y11, Y11

	// SI = rows of this tile = min(m left, 6).
	MOVQ   $6, SI
	CMPQ   R10, SI
	CMOVQLT R10, SI
	MOVL   beta+44(FP), DX
	ANDL   $0x7fffffff, DX // ±0 both mean "overwrite"
	JNZ    storeb

	STORE0(Y0, Y1)
	DECQ SI
	JZ   next
	ADDQ R8, DI
	STORE0(Y2, Y3)
	DECQ SI
	JZ   next
	ADDQ R8, DI
	STORE0(Y4, Y5)
	DECQ SI
	JZ   next
	ADDQ R8, DI
	STORE0(Y6, Y7)
	DECQ SI
	JZ   next
	ADDQ R8, DI
	STORE0(Y8, Y9)
	DECQ SI
	JZ   next
	ADDQ R8, DI
	STORE0(Y10, Y11)
	JMP  next

storeb:
	VBROADCASTSS beta+44(FP), Y15
	STOREB(Y0, Y1)
	DECQ         SI
	JZ           next
	ADDQ         R8, DI
	STOREB(Y2, Y3)
	DECQ         SI
	JZ           next
	ADDQ         R8, DI
	STOREB(Y4, Y5)
	DECQ         SI
	JZ           next
	ADDQ         R8, DI
	STOREB(Y6, Y7)
	DECQ         SI
	JZ           next
	ADDQ         R8, DI
	STOREB(Y8, Y9)
	DECQ         SI
	JZ           next
	ADDQ         R8, DI
	STOREB(Y10, Y11)

next:
	// AX already points at the next tile's micro-panel.
	SUBQ $6, R10
	JLE  done
	LEAQ (R13)(R11*2), R13
	JMP  tile

done:
	VZEROUPPER
	RET

// Transpose the 8×8 block in Y0..Y7 (row r in Yr) into Y8..Y15 (column c in
// Y(8+c)), using Y8..Y15 and then Y0..Y7 as scratch.
#define TRANSPOSE8 \
	VUNPCKLPS  Y1, Y0, Y8;          \
	VUNPCKHPS  Y1, Y0, Y9;          \
	VUNPCKLPS  Y3, Y2, Y10;         \
	VUNPCKHPS  Y3, Y2, Y11;         \
	VUNPCKLPS  Y5, Y4, Y12;         \
	VUNPCKHPS  Y5, Y4, Y13;         \
	VUNPCKLPS  Y7, Y6, Y14;         \
	VUNPCKHPS  Y7, Y6, Y15;         \
	VSHUFPS    $0x44, Y10, Y8, Y0;  \
	VSHUFPS    $0xEE, Y10, Y8, Y1;  \
	VSHUFPS    $0x44, Y11, Y9, Y2;  \
	VSHUFPS    $0xEE, Y11, Y9, Y3;  \
	VSHUFPS    $0x44, Y14, Y12, Y4; \
	VSHUFPS    $0xEE, Y14, Y12, Y5; \
	VSHUFPS    $0x44, Y15, Y13, Y6; \
	VSHUFPS    $0xEE, Y15, Y13, Y7; \
	VPERM2F128 $0x20, Y4, Y0, Y8;   \
	VPERM2F128 $0x20, Y5, Y1, Y9;   \
	VPERM2F128 $0x20, Y6, Y2, Y10;  \
	VPERM2F128 $0x20, Y7, Y3, Y11;  \
	VPERM2F128 $0x31, Y4, Y0, Y12;  \
	VPERM2F128 $0x31, Y5, Y1, Y13;  \
	VPERM2F128 $0x31, Y6, Y2, Y14;  \
	VPERM2F128 $0x31, Y7, Y3, Y15

// func packA6(n int, a *float32, lda int, dst *float32)
//
// Packs n (a multiple of 8) columns of 6 rows with stride lda floats into
// dst as n groups of 6 floats: dst[p·6+r] = a[r·lda+p].
TEXT ·packA6(SB), NOSPLIT, $0-32
	MOVQ n+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), R8
	MOVQ dst+24(FP), DI
	SHLQ $2, R8
	LEAQ (SI)(R8*4), DX // row 4
	SHRQ $3, CX
	JZ   packA6done

packA6loop:
	VMOVUPS (SI), Y0
	VMOVUPS (SI)(R8*1), Y1
	VMOVUPS (SI)(R8*2), Y2
	LEAQ    (SI)(R8*2), R9
	VMOVUPS (R9)(R8*1), Y3
	VMOVUPS (DX), Y4
	VMOVUPS (DX)(R8*1), Y5
	VXORPS  Y6, Y6, Y6
	VXORPS  Y7, Y7, Y7
	TRANSPOSE8

	// Column t goes to dst + 24·t. Full 8-float stores overlap: each one's
	// two spare lanes are overwritten by the next; the last is split so
	// nothing is written past the 48 floats of this block.
	VMOVUPS      Y8, (DI)
	VMOVUPS      Y9, 24(DI)
	VMOVUPS      Y10, 48(DI)
	VMOVUPS      Y11, 72(DI)
	VMOVUPS      Y12, 96(DI)
	VMOVUPS      Y13, 120(DI)
	VMOVUPS      Y14, 144(DI)
	VMOVUPS      X15, 168(DI)
	VEXTRACTF128 $1, Y15, X15
	VMOVQ        X15, 184(DI)

	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $192, DI
	DECQ CX
	JNZ  packA6loop

packA6done:
	VZEROUPPER
	RET

// func packB16(n int, b *float32, ldb int, dst *float32)
//
// Packs n (a multiple of 8) columns of 16 rows with stride ldb floats into
// dst as n groups of 16 floats: dst[p·16+j] = b[j·ldb+p].
TEXT ·packB16(SB), NOSPLIT, $0-32
	MOVQ n+0(FP), CX
	MOVQ b+8(FP), SI
	MOVQ ldb+16(FP), R8
	MOVQ dst+24(FP), DI
	SHLQ $2, R8
	LEAQ (R8)(R8*2), R9  // 3 rows
	LEAQ (SI)(R8*4), DX  // row 4
	LEAQ (DX)(R8*4), R10 // row 8
	LEAQ (R10)(R8*4), R11 // row 12
	SHRQ $3, CX
	JZ   packB16done

packB16loop:
	VMOVUPS (SI), Y0
	VMOVUPS (SI)(R8*1), Y1
	VMOVUPS (SI)(R8*2), Y2
	VMOVUPS (SI)(R9*1), Y3
	VMOVUPS (DX), Y4
	VMOVUPS (DX)(R8*1), Y5
	VMOVUPS (DX)(R8*2), Y6
	VMOVUPS (DX)(R9*1), Y7
	TRANSPOSE8
	VMOVUPS Y8, (DI)
	VMOVUPS Y9, 64(DI)
	VMOVUPS Y10, 128(DI)
	VMOVUPS Y11, 192(DI)
	VMOVUPS Y12, 256(DI)
	VMOVUPS Y13, 320(DI)
	VMOVUPS Y14, 384(DI)
	VMOVUPS Y15, 448(DI)

	VMOVUPS (R10), Y0
	VMOVUPS (R10)(R8*1), Y1
	VMOVUPS (R10)(R8*2), Y2
	VMOVUPS (R10)(R9*1), Y3
	VMOVUPS (R11), Y4
	VMOVUPS (R11)(R8*1), Y5
	VMOVUPS (R11)(R8*2), Y6
	VMOVUPS (R11)(R9*1), Y7
	TRANSPOSE8
	VMOVUPS Y8, 32(DI)
	VMOVUPS Y9, 96(DI)
	VMOVUPS Y10, 160(DI)
	VMOVUPS Y11, 224(DI)
	VMOVUPS Y12, 288(DI)
	VMOVUPS Y13, 352(DI)
	VMOVUPS Y14, 416(DI)
	VMOVUPS Y15, 480(DI)

	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, R10
	ADDQ $32, R11
	ADDQ $512, DI
	DECQ CX
	JNZ  packB16loop

packB16done:
	VZEROUPPER
	RET

// func copyA6(n int, a *float32, lda int, dst *float32)
//
// Packs n rows of 6 contiguous floats with stride lda floats into dst:
// dst[p·6+r] = a[p·lda+r].
TEXT ·copyA6(SB), NOSPLIT, $0-32
	MOVQ  n+0(FP), CX
	MOVQ  a+8(FP), SI
	MOVQ  lda+16(FP), R8
	MOVQ  dst+24(FP), DI
	SHLQ  $2, R8
	TESTQ CX, CX
	JZ    copyA6done

copyA6loop:
	VMOVUPS (SI), X0
	VMOVQ   16(SI), X1
	VMOVUPS X0, (DI)
	VMOVQ   X1, 16(DI)
	ADDQ    R8, SI
	ADDQ    $24, DI
	DECQ    CX
	JNZ     copyA6loop

copyA6done:
	RET

// func copyB16(n int, b *float32, ldb int, dst *float32)
//
// Packs n rows of 16 contiguous floats with stride ldb floats into dst:
// dst[p·16+j] = b[p·ldb+j].
TEXT ·copyB16(SB), NOSPLIT, $0-32
	MOVQ  n+0(FP), CX
	MOVQ  b+8(FP), SI
	MOVQ  ldb+16(FP), R8
	MOVQ  dst+24(FP), DI
	SHLQ  $2, R8
	TESTQ CX, CX
	JZ    copyB16done

copyB16loop:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ    R8, SI
	ADDQ    $64, DI
	DECQ    CX
	JNZ     copyB16loop

copyB16done:
	VZEROUPPER
	RET

// func fmaPeak(n int)
//
// Runs n iterations of 12 independent 8-wide FMAs (192 flops) with no
// memory traffic: the core's FMA throughput, against which BenchmarkSgemm
// figures are compared.
TEXT ·fmaPeak(SB), NOSPLIT, $0-8
	MOVQ   n+0(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	VXORPS Y12, Y12, Y12
	VXORPS Y13, Y13, Y13
	TESTQ  CX, CX
	JZ     fmaPeakDone

fmaPeakLoop:
	VFMADD231PS Y12, Y13, Y0
	VFMADD231PS Y12, Y13, Y1
	VFMADD231PS Y12, Y13, Y2
	VFMADD231PS Y12, Y13, Y3
	VFMADD231PS Y12, Y13, Y4
	VFMADD231PS Y12, Y13, Y5
	VFMADD231PS Y12, Y13, Y6
	VFMADD231PS Y12, Y13, Y7
	VFMADD231PS Y12, Y13, Y8
	VFMADD231PS Y12, Y13, Y9
	VFMADD231PS Y12, Y13, Y10
	VFMADD231PS Y12, Y13, Y11
	DECQ        CX
	JNZ         fmaPeakLoop

fmaPeakDone:
	VZEROUPPER
	RET
