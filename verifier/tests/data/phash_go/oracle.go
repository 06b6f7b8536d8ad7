package main

import (
	"fmt"
	"image"
	_ "image/jpeg"
	_ "image/png"
	"os"

	"github.com/corona10/goimagehash"
)

func main() {
	for _, p := range os.Args[1:] {
		f, err := os.Open(p)
		if err != nil {
			fmt.Printf("%s\terror: %v\n", p, err)
			continue
		}
		img, kind, err := image.Decode(f)
		f.Close()
		if err != nil {
			fmt.Printf("%s\terror: %v\n", p, err)
			continue
		}
		h, err := goimagehash.PerceptionHash(img)
		if err != nil {
			fmt.Printf("%s\terror: %v\n", p, err)
			continue
		}
		fmt.Printf("%s\t0x%016x\t%s %T\n", p, h.GetHash(), kind, img)
	}
}
