//go:build !purego

package vec

import "golang.org/x/sys/cpu"

var hasAVX2 = cpu.X86.HasAVX2

// adamAVX2 is Adam over n (a multiple of 8) values, see vec_amd64.s; c
// holds B1, C1, B2, C2, L2, Shrink, StepSize, InvSqrtBC2, Eps.
//
//go:noescape
func adamAVX2(param, grad, mom, vel *float32, n int, c *[9]float32)

// reluAVX2 and reluBackwardAVX2 are Relu and ReluBackward over n (a
// multiple of 8) values, see vec_amd64.s.
//
//go:noescape
func reluAVX2(h *float32, n int)

//go:noescape
func reluBackwardAVX2(grad, act *float32, n int)

// expShiftAVX2 is ExpShift over n (a multiple of 8) values, see
// vec_amd64.s; c is expConsts, and each lane's sum is added to lanes.
//
//go:noescape
func expShiftAVX2(dst, src *float64, n int, shift float64, c *[expConstsLen]float64, lanes *[8]float64)

// scaleAVX2, maxAVX2, widenAVX2 and narrowAVX2 are Scale, Max (each lane's
// maximum kept in lanes), Widen and Narrow over n (a multiple of 8)
// values, see vec_amd64.s.
//
//go:noescape
func scaleAVX2(dst, src *float64, n int, c float64)

//go:noescape
func maxAVX2(x *float64, n int, lanes *[8]float64)

//go:noescape
func widenAVX2(dst *float64, src *float32, n int)

//go:noescape
func narrowAVX2(dst *float32, src *float64, n int)

// addAVX2 is Add over n (a multiple of 8) values, see vec_amd64.s.
//
//go:noescape
func addAVX2(dst, src *float32, n int)
