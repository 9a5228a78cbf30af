package main

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Hand-written SVG line charts (no plotting dependency).

type series struct {
	name  string
	color string
	dash  bool
	pts   [][2]float64
}

var serverColor = map[string]string{"pushgate": "#1f77b4", "node": "#d62728", "floor": "#2ca02c"}

func colorOf(name string) string {
	if c, ok := serverColor[name]; ok {
		return c
	}
	return "#7f7f7f"
}

func niceStep(span float64, n int) float64 {
	if span <= 0 {
		return 1
	}
	raw := span / float64(n)
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

func fmtNum(v float64) string {
	switch {
	case v == 0:
		return "0"
	case math.Abs(v) >= 1e6:
		return trimZero(fmt.Sprintf("%.1f", v/1e6)) + "M"
	case math.Abs(v) >= 1e3:
		return trimZero(fmt.Sprintf("%.1f", v/1e3)) + "k"
	case math.Abs(v) >= 1:
		return trimZero(fmt.Sprintf("%.1f", v))
	default:
		return trimZero(fmt.Sprintf("%.3f", v))
	}
}

func trimZero(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

func esc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// chart renders series as an SVG document. logY uses a log10 y axis (values ≤ 0 dropped).
func chart(title, xlabel, ylabel string, logY bool, ss []series) string {
	const W, H = 760.0, 460.0
	const ml, mr, mt, mb = 70.0, 170.0, 40.0, 55.0
	pw, ph := W-ml-mr, H-mt-mb
	xmin, xmax := math.Inf(1), math.Inf(-1)
	ymin, ymax := math.Inf(1), math.Inf(-1)
	for _, s := range ss {
		for _, p := range s.pts {
			if logY && p[1] <= 0 {
				continue
			}
			xmin, xmax = math.Min(xmin, p[0]), math.Max(xmax, p[0])
			ymin, ymax = math.Min(ymin, p[1]), math.Max(ymax, p[1])
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%g" height="%g" viewBox="0 0 %g %g" font-family="Helvetica,Arial,sans-serif" font-size="12">`+"\n", W, H, W, H)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%g" y="22" font-size="15" font-weight="bold">%s</text>`+"\n", ml, esc(title))
	if math.IsInf(xmin, 1) {
		fmt.Fprintf(&b, `<text x="%g" y="%g">no data</text></svg>`+"\n", ml+20, mt+40)
		return b.String()
	}
	xmin = 0
	xstep := niceStep(xmax-xmin, 6)
	xmax = math.Ceil(xmax/xstep) * xstep
	if xmax <= xmin {
		xmax = xmin + xstep
	}
	var ylo, yhi float64
	var yticks []float64
	if logY {
		ylo = math.Pow(10, math.Floor(math.Log10(ymin)))
		yhi = math.Pow(10, math.Ceil(math.Log10(ymax)))
		if yhi <= ylo {
			yhi = ylo * 10
		}
		for d := ylo; d <= yhi*1.0001; d *= 10 {
			for _, m := range []float64{1, 2, 5} {
				if v := d * m; v <= yhi*1.0001 {
					yticks = append(yticks, v)
				}
			}
		}
	} else {
		ylo = 0
		ystep := niceStep(ymax, 5)
		yhi = math.Ceil(ymax/ystep) * ystep
		if yhi <= 0 {
			yhi = ystep
		}
		for v := 0.0; v <= yhi*1.0001; v += ystep {
			yticks = append(yticks, v)
		}
	}
	X := func(x float64) float64 { return ml + (x-xmin)/(xmax-xmin)*pw }
	Y := func(y float64) float64 {
		if logY {
			return mt + ph - (math.Log10(y)-math.Log10(ylo))/(math.Log10(yhi)-math.Log10(ylo))*ph
		}
		return mt + ph - (y-ylo)/(yhi-ylo)*ph
	}
	// grid and ticks
	for _, v := range yticks {
		y := Y(v)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e5e5e5"/>`+"\n", ml, y, ml+pw, y)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`+"\n", ml-6, y+4, fmtNum(v))
	}
	for v := xmin; v <= xmax*1.0001; v += xstep {
		x := X(v)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e5e5e5"/>`+"\n", x, mt, x, mt+ph)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", x, mt+ph+18, fmtNum(v))
	}
	fmt.Fprintf(&b, `<rect x="%g" y="%g" width="%g" height="%g" fill="none" stroke="#333"/>`+"\n", ml, mt, pw, ph)
	fmt.Fprintf(&b, `<text x="%g" y="%g" text-anchor="middle">%s</text>`+"\n", ml+pw/2, H-12, esc(xlabel))
	fmt.Fprintf(&b, `<text transform="translate(16,%g) rotate(-90)" text-anchor="middle">%s</text>`+"\n", mt+ph/2, esc(ylabel))
	// series
	for i, s := range ss {
		pts := append([][2]float64(nil), s.pts...)
		sort.Slice(pts, func(a, b int) bool { return pts[a][0] < pts[b][0] })
		var path []string
		for _, p := range pts {
			if logY && p[1] <= 0 {
				continue
			}
			path = append(path, fmt.Sprintf("%.1f,%.1f", X(p[0]), Y(p[1])))
		}
		dash := ""
		if s.dash {
			dash = ` stroke-dasharray="6,4"`
		}
		if len(path) > 0 {
			fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2"%s points="%s"/>`+"\n", s.color, dash, strings.Join(path, " "))
			for _, p := range path {
				xy := strings.Split(p, ",")
				fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="3" fill="%s"/>`+"\n", xy[0], xy[1], s.color)
			}
		}
		ly := mt + 10 + float64(i)*20
		fmt.Fprintf(&b, `<line x1="%g" y1="%g" x2="%g" y2="%g" stroke="%s" stroke-width="2"%s/>`+"\n", ml+pw+12, ly, ml+pw+40, ly, s.color, dash)
		fmt.Fprintf(&b, `<text x="%g" y="%g">%s</text>`+"\n", ml+pw+46, ly+4, esc(s.name))
	}
	b.WriteString("</svg>\n")
	return b.String()
}
