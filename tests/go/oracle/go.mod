module runnerkey.test/oracle

go 1.26

require (
	golang.org/x/net v0.49.0
	gopkg.in/go-jose/go-jose.v2 v2.6.3
)

require (
	github.com/google/go-cmp v0.7.0 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
	golang.org/x/crypto v0.47.0 // indirect
	golang.org/x/text v0.33.0 // indirect
)
