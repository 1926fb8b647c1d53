module modelplane/tools/liveness-probe

go 1.21
