module github.com/glassav/glassav

go 1.26.8
