package gemm

// packA copies the mc×kc block of op(A) whose top-left element is a[0] into
// dst as ⌈mc/mr⌉ micro-panels of kc·mr floats, column by column (mr floats
// per step of k). Rows past mc are zero so the kernel can always run a full
// mr-row tile. With asm, full panels go through the assembly packers
// (copyA6 when transA, else packA6, which transposes 8 columns at a time).
func packA(asm, transA bool, mc, kc int, a []float32, lda int, dst []float32) {
	for i0 := 0; i0 < mc; i0 += mr {
		d := dst[i0*kc : i0*kc+kc*mr]
		rows := min(mr, mc-i0)
		switch {
		case transA && rows == mr:
			// op(A)(i, p) = a[p·lda + i]: each step is 6 contiguous floats.
			if asm {
				_ = a[(kc-1)*lda+i0:][:mr] // bounds for copyA6
				copyA6(kc, &a[i0], lda, &d[0])
				continue
			}
			for p := 0; p < kc; p++ {
				*(*[mr]float32)(d[p*mr:]) = *(*[mr]float32)(a[p*lda+i0:])
			}
		case !transA && rows == mr:
			r0 := a[(i0+0)*lda:][:kc]
			r1 := a[(i0+1)*lda:][:kc]
			r2 := a[(i0+2)*lda:][:kc]
			r3 := a[(i0+3)*lda:][:kc]
			r4 := a[(i0+4)*lda:][:kc]
			r5 := a[(i0+5)*lda:][:kc]
			p0 := 0
			if asm && kc >= 8 {
				p0 = kc &^ 7
				packA6(p0, &r0[0], lda, &d[0])
			}
			for p := p0; p < kc; p++ {
				q := (*[mr]float32)(d[p*mr:])
				q[0], q[1], q[2], q[3], q[4], q[5] = r0[p], r1[p], r2[p], r3[p], r4[p], r5[p]
			}
		default:
			clear(d)
			for r := 0; r < rows; r++ {
				for p := 0; p < kc; p++ {
					if transA {
						d[p*mr+r] = a[p*lda+i0+r]
					} else {
						d[p*mr+r] = a[(i0+r)*lda+p]
					}
				}
			}
		}
	}
}

// packB copies the kc×nc block of op(B) whose top-left element is b[0] into
// dst as ⌈nc/nr⌉ micro-panels of kc·nr floats, row by row (nr floats per step
// of k). Columns past nc are zero. With asm, full panels go through the
// assembly packers (copyB16, or packB16 when transB, which transposes 8 rows
// at a time).
func packB(asm, transB bool, kc, nc int, b []float32, ldb int, dst []float32) {
	for j0 := 0; j0 < nc; j0 += nr {
		d := dst[j0*kc : j0*kc+kc*nr]
		cols := min(nr, nc-j0)
		switch {
		case !transB && cols == nr:
			// op(B)(p, j) = b[p·ldb + j]: each step is 16 contiguous floats.
			if asm {
				_ = b[(kc-1)*ldb+j0:][:nr] // bounds for copyB16
				copyB16(kc, &b[j0], ldb, &d[0])
				continue
			}
			for p := 0; p < kc; p++ {
				*(*[nr]float32)(d[p*nr:]) = *(*[nr]float32)(b[p*ldb+j0:])
			}
		case transB && cols == nr:
			// op(B)(p, j) = b[j·ldb + p]: transpose 4 source rows at a time
			// so each destination step gets 4 stores per pass.
			_ = b[(j0+nr-1)*ldb:][:kc] // bounds for packB16
			p0 := 0
			if asm && kc >= 8 {
				p0 = kc &^ 7
				packB16(p0, &b[j0*ldb], ldb, &d[0])
			}
			for jj := 0; jj < nr; jj += 4 {
				r0 := b[(j0+jj+0)*ldb:][:kc]
				r1 := b[(j0+jj+1)*ldb:][:kc]
				r2 := b[(j0+jj+2)*ldb:][:kc]
				r3 := b[(j0+jj+3)*ldb:][:kc]
				for p := p0; p < kc; p++ {
					q := (*[4]float32)(d[p*nr+jj:])
					q[0], q[1], q[2], q[3] = r0[p], r1[p], r2[p], r3[p]
				}
			}
		default:
			clear(d)
			for j := 0; j < cols; j++ {
				for p := 0; p < kc; p++ {
					if transB {
						d[p*nr+j] = b[(j0+j)*ldb+p]
					} else {
						d[p*nr+j] = b[p*ldb+j0+j]
					}
				}
			}
		}
	}
}
