NAME = "beta's helper"
