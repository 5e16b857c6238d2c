"""interchange: signed edXML (QCVN 102:2016) document interchange between state agencies."""

__version__ = "0.1.0"
