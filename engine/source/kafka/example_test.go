package kafka

import "fmt"

func ExampleEncodePosition() {
	fmt.Println(EncodePosition(Position{0: 12, 1: 7, 2: 300}))
	// Output: AQADAAwBBwGsAg
}
