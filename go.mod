module github.com/ternmq/broker

go 1.26
