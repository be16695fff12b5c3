NAME = "alpha's helper"
