#include "textflag.h"

// func knnKernelAVX2(a *float32, d int, nq *float32, thr *float32, b *float32, nc *float32, np int, out *float32, masks *uint64)
//
// For 4 query rows a (4×d, row stride d) and np packed panels of 16
// candidates (b: per panel d×16, candidate-minor), writes the squared
// distances nq[r]+nc[c]-2·a_r·b_c to out (per panel 4×16, row-major) and a
// bit mask of dist < thr[r] (per panel: bits 16r..16r+15 for row r).
TEXT ·knnKernelAVX2(SB), NOSPLIT, $0-72
	MOVQ a+0(FP), SI
	MOVQ d+8(FP), CX
	MOVQ nq+16(FP), R11
	MOVQ thr+24(FP), R12
	MOVQ b+32(FP), DI
	MOVQ nc+40(FP), R13
	MOVQ np+48(FP), BX
	MOVQ out+56(FP), DX
	MOVQ masks+64(FP), R14
	LEAQ (SI)(CX*4), R8
	LEAQ (R8)(CX*4), R9
	LEAQ (R9)(CX*4), R10

panel:
	TESTQ BX, BX
	JZ    end
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	XORQ   AX, AX

inner:
	VMOVUPS      (DI), Y8
	VMOVUPS      32(DI), Y9
	VBROADCASTSS (SI)(AX*4), Y10
	VFMADD231PS  Y8, Y10, Y0
	VFMADD231PS  Y9, Y10, Y1
	VBROADCASTSS (R8)(AX*4), Y11
	VFMADD231PS  Y8, Y11, Y2
	VFMADD231PS  Y9, Y11, Y3
	VBROADCASTSS (R9)(AX*4), Y12
	VFMADD231PS  Y8, Y12, Y4
	VFMADD231PS  Y9, Y12, Y5
	VBROADCASTSS (R10)(AX*4), Y13
	VFMADD231PS  Y8, Y13, Y6
	VFMADD231PS  Y9, Y13, Y7
	ADDQ         $64, DI
	INCQ         AX
	CMPQ         AX, CX
	JLT          inner

	VMOVUPS (R13), Y8
	VMOVUPS 32(R13), Y9

	// row 0
	VBROADCASTSS (R11), Y10
	VBROADCASTSS (R12), Y11
	VADDPS       Y0, Y0, Y0
	VADDPS       Y1, Y1, Y1
	VADDPS       Y8, Y10, Y12
	VADDPS       Y9, Y10, Y13
	VSUBPS       Y0, Y12, Y0
	VSUBPS       Y1, Y13, Y1
	VMOVUPS      Y0, (DX)
	VMOVUPS      Y1, 32(DX)
	VCMPPS       $0x11, Y11, Y0, Y12
	VCMPPS       $0x11, Y11, Y1, Y13
	VMOVMSKPS    Y12, AX
	MOVB         AL, (R14)
	VMOVMSKPS    Y13, AX
	MOVB         AL, 1(R14)

	// row 1
	VBROADCASTSS 4(R11), Y10
	VBROADCASTSS 4(R12), Y11
	VADDPS       Y2, Y2, Y2
	VADDPS       Y3, Y3, Y3
	VADDPS       Y8, Y10, Y12
	VADDPS       Y9, Y10, Y13
	VSUBPS       Y2, Y12, Y2
	VSUBPS       Y3, Y13, Y3
	VMOVUPS      Y2, 64(DX)
	VMOVUPS      Y3, 96(DX)
	VCMPPS       $0x11, Y11, Y2, Y12
	VCMPPS       $0x11, Y11, Y3, Y13
	VMOVMSKPS    Y12, AX
	MOVB         AL, 2(R14)
	VMOVMSKPS    Y13, AX
	MOVB         AL, 3(R14)

	// row 2
	VBROADCASTSS 8(R11), Y10
	VBROADCASTSS 8(R12), Y11
	VADDPS       Y4, Y4, Y4
	VADDPS       Y5, Y5, Y5
	VADDPS       Y8, Y10, Y12
	VADDPS       Y9, Y10, Y13
	VSUBPS       Y4, Y12, Y4
	VSUBPS       Y5, Y13, Y5
	VMOVUPS      Y4, 128(DX)
	VMOVUPS      Y5, 160(DX)
	VCMPPS       $0x11, Y11, Y4, Y12
	VCMPPS       $0x11, Y11, Y5, Y13
	VMOVMSKPS    Y12, AX
	MOVB         AL, 4(R14)
	VMOVMSKPS    Y13, AX
	MOVB         AL, 5(R14)

	// row 3
	VBROADCASTSS 12(R11), Y10
	VBROADCASTSS 12(R12), Y11
	VADDPS       Y6, Y6, Y6
	VADDPS       Y7, Y7, Y7
	VADDPS       Y8, Y10, Y12
	VADDPS       Y9, Y10, Y13
	VSUBPS       Y6, Y12, Y6
	VSUBPS       Y7, Y13, Y7
	VMOVUPS      Y6, 192(DX)
	VMOVUPS      Y7, 224(DX)
	VCMPPS       $0x11, Y11, Y6, Y12
	VCMPPS       $0x11, Y11, Y7, Y13
	VMOVMSKPS    Y12, AX
	MOVB         AL, 6(R14)
	VMOVMSKPS    Y13, AX
	MOVB         AL, 7(R14)

	ADDQ $256, DX
	ADDQ $64, R13
	ADDQ $8, R14
	DECQ BX
	JMP  panel

end:
	VZEROUPPER
	RET

// func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)
TEXT ·cpuid(SB), NOSPLIT, $0-24
	MOVL eaxArg+0(FP), AX
	MOVL ecxArg+4(FP), CX
	CPUID
	MOVL AX, eax+8(FP)
	MOVL BX, ebx+12(FP)
	MOVL CX, ecx+16(FP)
	MOVL DX, edx+20(FP)
	RET

// func xgetbv() (eax, edx uint32)
TEXT ·xgetbv(SB), NOSPLIT, $0-8
	MOVL $0, CX
	XGETBV
	MOVL AX, eax+0(FP)
	MOVL DX, edx+4(FP)
	RET
