//go:build !amd64 || purego

package vec

const hasAVX2 = false

func adamAVX2(param, grad, mom, vel *float32, n int, c *[9]float32) { panic("vec: no assembly") }

func reluAVX2(h *float32, n int)                 { panic("vec: no assembly") }
func reluBackwardAVX2(grad, act *float32, n int) { panic("vec: no assembly") }

func expShiftAVX2(dst, src *float64, n int, shift float64, c *[expConstsLen]float64, lanes *[8]float64) {
	panic("vec: no assembly")
}

func scaleAVX2(dst, src *float64, n int, c float64) { panic("vec: no assembly") }
func maxAVX2(x *float64, n int, lanes *[8]float64)  { panic("vec: no assembly") }
func widenAVX2(dst *float64, src *float32, n int)   { panic("vec: no assembly") }
func narrowAVX2(dst *float32, src *float64, n int)  { panic("vec: no assembly") }
func addAVX2(dst, src *float32, n int)              { panic("vec: no assembly") }
