# unit tests of the engine (pkt, probe, trace)
