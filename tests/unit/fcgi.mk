# unit tests of fcgi/
