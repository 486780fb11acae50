import GANNN
