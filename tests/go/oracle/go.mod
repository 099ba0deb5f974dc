module runnerkey.test/oracle

go 1.26
