# unit tests of helper/
